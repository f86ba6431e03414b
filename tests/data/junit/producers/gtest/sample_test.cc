#include <gtest/gtest.h>

TEST(MathTest, Adds) { EXPECT_EQ(1 + 1, 2); }
TEST(MathTest, Subtracts) { EXPECT_EQ(2 - 1, 1); }
TEST(MathTest, MultipliesWrongly) { EXPECT_EQ(2 * 2, 5); }
TEST(MathTest, SkipsAtRuntime) { GTEST_SKIP() << "not on this machine"; }
TEST(MathTest, DISABLED_Divides) { EXPECT_EQ(4 / 2, 2); }

class ParamTest : public ::testing::TestWithParam<int> {};
TEST_P(ParamTest, IsPositive) { EXPECT_GT(GetParam(), 0); }
INSTANTIATE_TEST_SUITE_P(Values, ParamTest, ::testing::Values(1, 2, -3));

TEST(OutputTest, RecordsProperty) {
  RecordProperty("ticket", "TICKET-1");
  SUCCEED();
}
