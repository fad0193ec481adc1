@ui
Feature: Every spheroid is found whole and every export carries it
  A lab takes our areas and diameters into papers.  A spheroid is not always a
  round, bright disc in the middle of the field: it can be shaped like a
  crescent, grown together with another, cut by the edge of the picture, or so
  large and evenly bright that its middle looks like nothing at all.  Each must
  be outlined whole, measured, and listed with the same numbers wherever the
  researcher takes it: the viewer, the measurements, the spreadsheet, and the
  outlines that QuPath and Fiji open.

  Rule: a spheroid of any shape is outlined whole and listed alike in every export

    @parallel
    Scenario: A crescent, two spheroids grown together, one cut by the border and a large evenly bright one
      Given a researcher in the web page with a project at a pixel size of 0.65 µm and an image of each of these spheroids:
        | shape                   |
        | crescent                |
        | grown together          |
        | cut by the border       |
        | large and evenly bright |
      When the researcher segments the project in the page and it completes
      Then each spheroid is found whole: one outline without holes, covering it with an IoU of at least 0.9, its area within 10%
      And the viewer, the measurements, the spreadsheet and the outlines for QuPath and for ImageJ list the same spheroids with the same numbers
