Feature: Segmenting spheroid micrographs
  Researchers upload micrographs of spheroids and get back, for every image,
  a mask of the spheroids and their outlines.  Several researchers use the
  service at once, and each sees only their own work.

  @smoke
  Scenario: A researcher segments a batch of eight images
    Given a researcher with a project of 8 spheroid images
    When the researcher segments the project
    Then every image gets a mask of its own size
    And every image has at least one outline
    And every mask matches the spheroids in its image

  @parallel
  Scenario: Two researchers segment their batches at the same time
    Given 2 researchers, each with a project of 8 spheroid images
    When they all segment their projects at the same moment
    Then every researcher's images all get masks of their own size and at least one outline
    And each researcher sees only their own projects, images and results
