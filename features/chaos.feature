@chaos
Feature: Ordinary faults lose nothing
  In a real lab the database restarts, a server is killed and started again,
  a machine hangs.  None of it may cost a researcher an image: every job still
  succeeds exactly once, every researcher still sees every step of their own
  work, and the service is back within a bound set by its own settings.

  Rule: the database may go away; nothing accepted is lost and nothing fails because of it

    Background:
      Given 4 researchers, each with a project of 20 spheroid images

    Scenario Outline: The database <fault> while four researchers work
      When they all segment their projects and the database <fault> while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And no finished work was done again
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And requests made while the database was away were told "unavailable", with a time to retry
      And its readiness check said it was not ready while the database was away
      And work resumed within the time the service's own settings promise

      Examples:
        | fault    |
        | restarts |
        | crashes  |

    Scenario: Every database connection is dropped at once while four researchers work
      When they all segment their projects and every database connection is dropped while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And no finished work was done again
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And the events reached the researchers within a second of the change they report
      And work resumed within the time the service's own settings promise

    Scenario: The database turns read-only for a while as four researchers work
      When they all segment their projects and the database turns read-only for half a job's lease while the jobs run
      Then every job succeeds at its first attempt, exactly once
      And no image was left claimed by a worker that was not working on it
      And no finished work was done again
      And changes asked for while the database was read-only were told "unavailable", with a time to retry
      And work resumed within the time the service's own settings promise

    Scenario: The disk under the images and results fills up as four researchers work
      When they all segment their projects and the disk under the images and results fills up for a few seconds while the jobs run
      Then every job succeeds at its first attempt, exactly once
      And no image was left claimed by a worker that was not working on it
      And images uploaded while the disk was full were told "unavailable", with a time to retry
      And work resumed within the time the service's own settings promise

  Rule: the inference server may restart; its jobs wait for it instead of failing

    Scenario: The inference server is killed and started again while four researchers work
      Given 4 researchers, each with a project of 20 spheroid images
      When they all segment their projects and the inference server is killed and started again while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And work resumed within the time the service's own settings promise

    Scenario: The inference server stops answering for longer than a lease while four researchers work
      Given 4 researchers, each with a project of 20 spheroid images
      When they all segment their projects and the inference server hangs for twice a job's lease while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And no job was taken from the worker that started it
      And work resumed within the time the service's own settings promise

    Scenario: Segmenting every image takes longer than a job's lease
      Given 4 researchers, each with a project of 2 spheroid images
      And the inference server takes longer than a job's lease to segment any image
      When they all segment their projects at the same moment
      Then every job's lease was renewed before it ran out
      And every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And no job was taken from the worker that started it
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's

  Rule: an API process may die; the researchers it served carry on elsewhere and miss nothing

    @ui
    Scenario: The API process sending researchers their events is killed while they work
      Given 4 researchers, each with a project of 20 spheroid images
      And the first of them follows the work in the web page, served by the API process that sends their events
      When they all segment their projects and the API process sending their events is killed and started again while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And their live events came back on their own, from where they left off
      And the web page received every event of the first researcher's jobs exactly once, in order
      And work resumed within the time the service's own settings promise

  Rule: a worker that wakes after its lease ran out cannot overwrite the work of the one that took over

    Scenario: A worker frozen past its lease wakes up holding results nobody wants
      Given 2 workers are serving the queue
      And a researcher with a project of 6 spheroid images
      And the inference server is frozen
      When the researcher segments the project, and a worker holding jobs freezes past its lease while another takes them over
      Then every image is segmented exactly once
      And no image was left claimed by a worker that was not working on it
      And the frozen worker's late results were refused, and its jobs kept the results of the worker that took them over
