Feature: Live progress in the browser
  A researcher follows a batch in the browser as it happens.  A network hiccup
  must not make the page miss, or repeat, any step of the progress.

  @parallel @ui
  Scenario: A researcher's browser tab loses its connection mid-batch and reconnects
    Given a researcher signed in to the web page with a project of 12 spheroid images
    And the inference server is frozen
    When the researcher starts segmenting the project in the page
    And the tab loses its connection while the batch finishes, then reconnects
    Then the page received every event of the batch exactly once, in order
    And the page shows the batch as completed
