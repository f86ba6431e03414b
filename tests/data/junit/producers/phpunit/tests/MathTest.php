<?php
use PHPUnit\Framework\TestCase;

final class MathTest extends TestCase
{
    public function testAdds(): void { $this->assertSame(2, 1 + 1); }
    public function testSubtracts(): void { $this->assertSame(1, 2 - 1); }
    public function testMultipliesWrongly(): void { $this->assertSame(5, 2 * 2); }
    public function testThrows(): void { throw new RuntimeException('boom'); }
    public function testSkipped(): void { $this->markTestSkipped('not today'); }
    public function testIncomplete(): void { $this->markTestIncomplete('half done'); }
    public function testRisky(): void { }

    /** @dataProvider numbers */
    public function testPositive(int $n): void { $this->assertGreaterThan(0, $n); }
    public function numbers(): array { return ['one' => [1], 'minus' => [-1]]; }
}
