require "does_not_exist" # fails to load: an error outside of any example
RSpec.describe("never") { it("runs") {} }
