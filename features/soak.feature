@soak @slow
Feature: A long busy day leaves nothing behind
  Four researchers keep the service busy for a minute on end.  No process may
  keep memory it does not need, and once the work is done the database
  connections and open files are back where they were.

  Scenario: Four researchers keep the service busy for a minute
    Given 4 researchers, each with a project of 6 spheroid images
    When they keep the service busy for a minute
    Then every job succeeds exactly once
    And no service process grew by more than 100 MB
    And their database connections and open files are back to where they were before the run
