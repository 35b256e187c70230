#include "git/pkt_line.hpp"

#include <gtest/gtest.h>

namespace outpost::git {

TEST(PktLine, FramesPayloadWithHexLength) {
  EXPECT_EQ(pkt_line("# service=git-upload-pack\n"), "001e# service=git-upload-pack\n");
}

TEST(PktLine, AcceptsWellFormedRequests) {
  std::string v0 = pkt_line("want 0123456789012345678901234567890123456789 ofs-delta\n") + "0000" +
                   pkt_line("done\n");
  EXPECT_TRUE(validate_pkt_lines(v0));
  std::string v2 = pkt_line("command=ls-refs\n") + "0001" + pkt_line("peel\n") + "0000";
  EXPECT_TRUE(validate_pkt_lines(v2));
}

TEST(PktLine, RejectsMalformedFrames) {
  for (std::string bad : {std::string(""), std::string("00"), std::string("zzzz"),
                          std::string("0003"), std::string("00ffwant"), std::string("0010short"),
                          std::string("fff0") + std::string(10, 'x')}) {
    EXPECT_FALSE(validate_pkt_lines(bad)) << bad;
  }
}

}  // namespace outpost::git
