@containers
Feature: Workers on machines of their own
  A lab runs its workers wherever a GPU or a spare machine is: each in a
  container of its own that reaches the database.  A container dies, hangs or
  is restarted like any machine; the work must still be done exactly once.
  (Needs a Docker engine and the system's Python image, which setup builds as
  root; skipped elsewhere, with the reason in the report.)

  Rule: exactly once holds whatever happens to the containers the workers run in

    Scenario: Three workers in containers: one killed, one paused past its lease, one restarted
      Given 4 researchers, each with a project of 10 spheroid images
      And 3 workers running in containers of their own, and no other
      When they all segment their projects, and meanwhile one container is killed, one paused past its lease and one restarted
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
