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
TEST_CASE("may fail and does", "[math][!mayfail]") { REQUIRE(1 == 2); }
TEST_CASE("may fail and does not", "[math][!mayfail]") { REQUIRE(1 == 1); }
TEST_CASE("should fail and does", "[math][!shouldfail]") { REQUIRE(1 == 2); }
// Hidden; run on its own into catch2-shouldfail-passes.xml (see generate.sh).
TEST_CASE("should fail but passes", "[math][!shouldfail][.shouldfail-passes]") { REQUIRE(1 == 1); }
