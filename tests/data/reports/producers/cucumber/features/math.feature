Feature: Arithmetic

  Background:
    Given a calculator

  Scenario: adding
    When I add 1 and 1
    Then the result is 2

  @smoke
  Scenario: multiplying wrongly
    When I multiply 2 and 2
    Then the result is 5

  Scenario: an undefined step
    When I take the square root of 4
    Then the result is 2

  Scenario: a pending step
    When I divide 1 by 3
    Then the result is 0

  Scenario: an ambiguous step
    When I press clear
    Then the result is 0

  Scenario: skipped at run time
    When I need a GPU
    Then the result is 2

  Scenario Outline: squares
    When I square <n>
    Then the result is <square>

    Examples:
      | n | square |
      | 2 | 4      |
      | 3 | 10     |

  @broken-hook
  Scenario: a failing Before hook
    When I add 2 and 2
    Then the result is 4
