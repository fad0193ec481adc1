Feature: Sharing the machine fairly
  Four researchers share one GPU.  Whoever has fewer images running goes next,
  so a small batch never waits behind all of a large one, and researchers who
  start together progress together.

  Rule: a small batch never waits behind all of a large one

    @parallel @fairness
    Scenario: Three researchers with small batches arrive after one with a large batch
      Given a researcher with a project of 40 spheroid images
      And 3 more researchers, each with a project of 5 spheroid images
      When the first researcher segments the project, and a moment later the three others segment theirs
      Then each of the three gets a first result before the large batch is half done
      And all 15 of their images finish before the large batch does

  Rule: researchers who start together progress together

    @parallel @fairness
    Scenario: Four researchers queue equal batches at the same moment
      Given 4 researchers, each with a project of 24 spheroid images
      And the workers are held up for a moment
      When they all segment their projects at the same moment, and the workers then get to them
      Then every researcher gets a first result before anyone gets a third
      And while all of them wait, their throughput has a Jain fairness index of at least 0.95
