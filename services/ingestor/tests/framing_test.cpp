// RFC 6587 framing: newline and octet-counted frames, split anywhere, oversized frames cut.

#include "framing.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using chainwatch::ingestor::frame_decoder;

namespace {

std::vector<std::string> frames_of(const std::vector<std::string>& chunks, std::size_t max = 1024,
                                   std::size_t* truncated = nullptr) {
  frame_decoder d(max);
  std::vector<std::string> out;
  auto sink = [&](std::string_view f) { out.emplace_back(f); };
  for (const auto& c : chunks)
    d.feed(c, sink);
  d.finish(sink);
  if (truncated) *truncated = d.truncated();
  return out;
}

} // namespace

TEST(framing, newline_frames_with_crlf_and_blank_lines) {
  EXPECT_EQ(frames_of({"<13>a b\n\n<13>c\r\n<13>tail"}),
            (std::vector<std::string>{"<13>a b", "<13>c", "<13>tail"}));
}

TEST(framing, octet_counted_frames_may_contain_newlines) {
  EXPECT_EQ(frames_of({"6 <1>a\nb5 <1>xy"}), (std::vector<std::string>{"<1>a\nb", "<1>xy"}));
}

TEST(framing, every_split_point_gives_the_same_frames) {
  std::string stream = "14 <1>hello world<14>plain line\n7 <1>abcd2024 starts with digits\n";
  std::vector<std::string> want{"<1>hello world", "<14>plain line", "<1>abcd",
                                "2024 starts with digits"};
  ASSERT_EQ(frames_of({stream}), want);
  for (std::size_t i = 0; i <= stream.size(); ++i)
    EXPECT_EQ(frames_of({stream.substr(0, i), stream.substr(i)}), want) << "split at " << i;
}

TEST(framing, oversized_frames_are_cut_not_dropped) {
  std::size_t truncated = 0;
  auto out = frames_of({"12 <1>abcdefghi6 <1>xyz", std::string(10, 'q') + "\n"}, 8, &truncated);
  EXPECT_EQ(out, (std::vector<std::string>{"<1>abcde", "fghi", "<1>xyz", "qqqqqqqq", "qq"}));
  EXPECT_EQ(truncated, 2u);
}
