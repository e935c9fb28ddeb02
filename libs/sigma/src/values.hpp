#pragma once

// Internal: value transformations of the Sigma modifiers.

#include <chainwatch/sigma/sigma.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::sigma {

/// `windash` over a string with wildcards (the mask follows the text); empty beyond `limit`.
std::vector<sigma_string> windash_variants(const sigma_string& s, std::size_t limit);

/// UTF-8 text as UTF-16 bytes (little- or big-endian; `bom`: a byte order mark first).
std::string utf16(std::string_view utf8, bool big_endian, bool bom);

} // namespace chainwatch::sigma
