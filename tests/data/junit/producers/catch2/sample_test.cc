#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

TEST_CASE("adds", "[math]") { REQUIRE(1 + 1 == 2); }
TEST_CASE("subtracts", "[math]") { REQUIRE(2 - 1 == 1); }
TEST_CASE("multiplies wrongly", "[math]") { REQUIRE(2 * 2 == 5); }
TEST_CASE("throws unexpectedly", "[math]") { throw std::runtime_error("boom"); }
TEST_CASE("hidden is not run", "[.][math]") { REQUIRE(false); }
TEST_CASE("sections", "[math]") {
  SECTION("first") { REQUIRE(true); }
  SECTION("second") { REQUIRE(true); }
}
