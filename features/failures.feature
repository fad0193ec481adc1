Feature: Failures lose nothing
  Processes die and images can be unreadable; the service must still finish
  every job exactly once, or tell the researcher plainly why it could not.

  @failure
  Scenario: A worker is killed in the middle of a job
    Given 2 workers are serving the queue
    And a researcher with a project of 6 spheroid images
    And the inference server is frozen
    When the researcher segments the project and a worker holding one of the jobs is killed
    Then every image is segmented exactly once
    And no image was left claimed by a worker that was not working on it
    And the killed worker's jobs were taken up again after their lease ran out

  @failure
  Scenario: A worker told to stop mid-batch hands back what it cannot finish in time, uncharged
    Given 2 workers are serving the queue
    And a researcher with a project of 6 spheroid images
    And the inference server is frozen
    When the researcher segments the project and a worker holding jobs is told to stop
    Then that worker left within its grace period, handing back the jobs it held
    And every job succeeds at its first attempt, exactly once
    And no image was left claimed by a worker that was not working on it

  @failure
  Scenario: A job that fails every time ends failed, and everyone else's work carries on
    Given 2 researchers, each with a project of 4 spheroid images
    And the first researcher's project also holds an image too small to segment
    When they all segment their projects at the same moment
    Then the job of the image too small to segment ends failed after 3 attempts, with the error shown to its owner
    And every other image is segmented

  @failure
  Scenario: An image the inference server never answers in time ends failed, and everyone else's work carries on
    Given 2 researchers, each with a project of 4 spheroid images
    And the inference server times out on one of the first researcher's images, every time
    When they all segment their projects at the same moment
    Then that image's job ends failed after 3 attempts with the error "timeout", each given up within the time the settings allow
    And every other image is segmented at its first attempt
