Feature: Twenty researchers at once
  A lab's whole team uses the service on the same afternoon: twenty
  researchers, some dropping in a large plate series, most a few images, each
  with several browser tabs open.  The machine stays fair to all of them, and
  each tab hears about its researcher's work at once, in order, and nothing of
  anyone else's.

  Rule: twenty researchers share the machine fairly

    @parallel @fairness @scale
    Scenario: Twenty researchers queue equal batches at the same moment
      Given 20 researchers, each with a project of 6 spheroid images
      And the workers are held up for a moment
      When they all segment their projects at the same moment, and the workers then get to them
      Then every researcher gets a first result before anyone gets a third
      And while all of them wait, their throughput has a Jain fairness index of at least 0.95

    @parallel @fairness @scale
    Scenario: Sixteen researchers with small batches arrive while four with large batches hold every running slot
      Given 4 researchers, each with a project of 30 spheroid images
      And 16 more researchers, each with a project of 3 spheroid images
      When the first 4 researchers segment their projects, and once each of them has a result the others segment theirs
      Then every small batch gets its first result before any large batch is half done
      And all 48 of their images finish before any large batch does

  Rule: every tab hears its researcher's news at once

    @parallel @scale
    Scenario: Twenty researchers follow their work in five tabs each
      Given 20 researchers, each with a project of 2 spheroid images
      And each of them follows their work in 4 more browser tabs
      When they all segment their projects at the same moment
      Then each of the 100 tabs received every event of its researcher, in order, and nothing of anyone else's
      And every event reached every tab within 1 second of being written

  Rule: history does not pile up forever

    @parallel @events
    Scenario: A researcher whose history is past the retention is told so, and misses nothing from then on
      Given an API process that keeps events for 2 seconds
      And a researcher signed in there whose project of 2 spheroid images has been segmented
      When their events are past the retention
      Then asking for their events from the start is answered "events_expired", with none of them
      And a stream from the seq the service gives now hears every event of their next batch, in order
      And every image of their project still shows its segmentation
