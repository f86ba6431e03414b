RSpec.describe "math" do
  it("adds") { expect(1 + 1).to eq(2) }
  it("subtracts") { expect(2 - 1).to eq(1) }
  it("multiplies wrongly") { expect(2 * 2).to eq(5) }
  it("raises unexpectedly") { raise "boom" }
  it("is skipped", skip: "not today") { expect(true).to eq(true) }
  it("is pending") { pending("not implemented"); expect(1).to eq(2) }
  xit("is disabled with xit") { expect(true).to eq(true) }
end
