#pragma once

// A small, bounded XML reader for the Windows event XML rendering: elements,
// attributes, text, CDATA and the predefined and numeric entities. No DTDs and no
// entity definitions (so no entity expansion bombs), no recursion, fixed depth.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::normalize::detail {

/// One leaf of the document: a dotted element path below the root (`System.EventID`,
/// `System.Provider.Name` for an attribute) or, for `<Data Name="k">v</Data>`, the `k`.
struct xml_leaf {
  std::string key;
  std::string value;
  bool event_data = false; ///< From `EventData/Data` (named, or `param<N>` when unnamed).
};

/// Limits of xml_flatten.
struct xml_limits {
  std::size_t max_depth = 16;
  std::size_t max_leaves = 4096;
};

/// Flattens XML documents into leaves, reusing its buffers from one document to the next.
class xml_reader {
public:
  /// Reads `text`; returns npos on success or the byte offset of the problem.
  std::size_t flatten(std::string_view text, xml_limits lim = {});
  /// The leaves of the last successful flatten().
  std::span<const xml_leaf> leaves() const noexcept { return {leaves_.data(), count_}; }

private:
  struct open_element {
    std::string_view name;
    std::size_t path_len = 0; ///< Length of `path_` before this element was pushed.
    std::string data_name;    ///< `Name` attribute of a `Data` element.
    bool has_children = false;
    std::string text;
  };
  bool push_leaf(std::string_view key, std::string_view value, bool event_data,
                 const xml_limits& lim);
  bool push_data(const open_element& e, const xml_limits& lim);

  std::vector<xml_leaf> leaves_;
  std::size_t count_ = 0;
  std::vector<open_element> stack_;
  std::size_t depth_ = 0;
  std::string path_;
  std::size_t unnamed_data_ = 0;
  std::string attr_value_; ///< Decoded attribute value scratch.
};

} // namespace chainwatch::normalize::detail
