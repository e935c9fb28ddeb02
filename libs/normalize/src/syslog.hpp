#pragma once

// The syslog envelope: RFC 5424, RFC 3164 (BSD, with or without PRI, host or year) and the
// common variants (ISO 8601 time instead of `Mmm dd hh:mm:ss`, an empty host, a tag with
// spaces, a multi-line message). Pure: views into the line, no allocation.

#include <cstddef>
#include <string_view>

namespace chainwatch::normalize::detail {

/// Header fields of one syslog record; an empty view is an absent field (the RFC 5424
/// NILVALUE `-` included).
struct syslog_header {
  std::string_view priority;        ///< PRI digits, without `<>`.
  std::string_view version;         ///< RFC 5424 VERSION.
  std::string_view timestamp;       ///< As written (`Oct 11 22:14:15`, ISO 8601, ...).
  std::string_view hostname;        ///< HOSTNAME.
  std::string_view program;         ///< APP-NAME, or the 3164 TAG without `[pid]`.
  std::string_view pid;             ///< PROCID, or the 3164 `[pid]`.
  std::string_view msgid;           ///< RFC 5424 MSGID.
  std::string_view structured_data; ///< RFC 5424 SD elements, raw (`[id k="v"][...]`).
  std::string_view message;         ///< The rest, continuation lines included.
  bool ok = false;                  ///< False when the PRI or the SD is malformed.
};

/// Splits a syslog record (one line, or several joined with `\n`: the header is on the first).
syslog_header parse_syslog_header(std::string_view line) noexcept;

/// One SD-PARAM of RFC 5424 structured data. `value` still holds the `\"`, `\\`, `\]` escapes
/// when `escaped` is set.
struct syslog_sd_param {
  std::string_view id;
  std::string_view name;
  std::string_view value;
  bool escaped = false;
};

/// Reads the SD-PARAM at `pos` of `sd` (syslog_header::structured_data) and advances `pos`;
/// false at the end. An SD element without parameters yields nothing.
bool next_sd_param(std::string_view sd, std::size_t& pos, std::string_view& id,
                   syslog_sd_param& out) noexcept;

} // namespace chainwatch::normalize::detail
