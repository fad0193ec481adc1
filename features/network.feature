@chaos @network
Feature: A network that hangs, drops and dawdles loses nothing
  Between the service's processes, its database and its inference server lies a
  network, and networks misbehave: packets vanish, connections reset, replies
  come late.  Here every one of those links passes through a proxy that can
  break it.  Whatever it does, no job is lost, none fails because of it, none
  is done twice, and no request hangs.

  Rule: the database may be out of reach for a while

    Background:
      Given 4 researchers, each with a project of 20 spheroid images

    Scenario: The database cannot be reached for a few seconds
      When they all segment their projects and the database cannot be reached for a few seconds while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And requests made meanwhile were answered in the time the service allows itself, with what was asked or "unavailable"
      And work resumed within the time the service's own settings promise

    Scenario: One database connection or query in three fails for a while
      When they all segment their projects and one database connection or query in three fails for a while while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And requests made meanwhile were answered in the time the service allows itself, with what was asked or "unavailable"
      And work resumed within the time the service's own settings promise

  Rule: a worker that never hears back after taking an image still does that image, once

    Scenario: The database's answer to a worker taking an image is lost on the way, three times
      Given 4 researchers, each with a project of 5 spheroid images
      And the database's answer is lost the next 3 times a worker takes an image
      When they all segment their projects at the same moment
      Then every job succeeds exactly once
      And no image was left claimed by a worker that was not working on it
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And 3 of those answers were lost on the way

  Rule: the inference server may be out of reach for a while

    Scenario: The inference server cannot be reached for ten seconds
      Given 4 researchers, each with a project of 20 spheroid images
      When they all segment their projects and the inference server cannot be reached for ten seconds while the jobs run
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And work resumed within the time the service's own settings promise

  Rule: a slow network only slows the work down

    Scenario: Every message to the database and the inference server is late and uneven
      Given 4 researchers, each with a project of 5 spheroid images
      And every message to the database and the inference server takes 100 ms, give or take 50
      When they all segment their projects at the same moment
      Then every job succeeds exactly once, and none failed
      And no image was left claimed by a worker that was not working on it
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
