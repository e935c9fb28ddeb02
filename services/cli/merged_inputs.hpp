#pragma once

// Several input files read side by side in event time for `chainwatch hunt`: each file is a
// source with a watermark of its own (engine::watermark_tracker, as the mesh's sources), the
// record with the earliest time among the files' next ones comes first, and the skew guard
// sets aside an event far ahead of its neighbours in its file (engine::skewed_among).

#include "event_time.hpp"
#include "records.hpp"

#include <chainwatch/engine/watermarks.hpp>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chainwatch::cli {

/// One record and its event time.
struct timed_record {
  record rec;
  std::int64_t ts = 0;
};

/// Merges the records of several files by event time; memory is bounded by a few records per
/// file (the engine's buffer by the lateness), not by the files' sizes.
class merged_inputs {
public:
  struct options {
    std::string timestamp_field = "@timestamp";
    time_format format = time_format::automatic;
    std::int64_t lateness_ns = 0;
    std::int64_t max_future_ns = engine::default_max_future_ns;
    bool arrival = false; ///< files one after another, no watermarks, no skew guard
  };
  /// What is set aside, as it happens.
  struct reports {
    /// A record that is no event: its error, or no valid time in the timestamp field.
    std::function<void(const record&, const std::string& why)> malformed;
    /// A skewed event and the time of the neighbour it was compared with.
    std::function<void(const timed_record&, std::int64_t reference_ns)> skewed;
    /// A file that could not be read to its end.
    std::function<void(const std::string& error)> read_error;
  };

  merged_inputs(std::vector<record_reader> files, options o, reports r);

  /// The next record in event-time order (arrival: in file order); nullopt when every file is
  /// at its end.
  std::optional<timed_record> next();
  /// The watermark when it moved by at least a second since the last call that returned one
  /// (the engine's work per advance is proportional to the keys it wakes, not to the calls):
  /// the lowest over the files still being read of their latest event time less the lateness.
  std::optional<std::int64_t> advance();

private:
  /// How many events on each side of an event the skew guard weighs.
  static constexpr std::size_t neighbours = 8;
  struct source {
    record_reader reader;
    std::string name;                             ///< its position: a file may be given twice
    std::deque<timed_record> window;              ///< [0, next) taken, [next, end) read ahead
    std::size_t next = 0;                         ///< the next record to take
    std::size_t decided = std::size_t(-1);        ///< `next` once the skew guard passed it
    bool ended = false;                           ///< at its end, and counted so
    std::int64_t observed = engine::no_watermark; ///< the latest time given to the tracker
  };
  void fill(source& s);
  timed_record* head(source& s);

  std::vector<source> sources_;
  options opts_;
  reports reports_;
  event::field_path ts_path_;
  engine::watermark_tracker tracker_;
  bool moved_ = false; ///< the tracker saw something since the last advance()
  std::int64_t advanced_ = engine::no_watermark;
};

} // namespace chainwatch::cli
