@ui
Feature: Researchers work in the web page
  The lab's researchers use the service through its web page.  Each works in a
  browser of their own: they sign up, make a project, upload their micrographs,
  segment them and watch the progress live; then they look at each spheroid's
  outline and take its measurements home as a spreadsheet.  The page works
  with the keyboard alone and with a screen reader.

  Rule: four researchers at once, each in a browser of their own, see only their own work

    @parallel @trace
    Scenario: Four researchers segment their images in four browsers at the same moment
      Given 4 researchers, each in a browser of their own, who signed up, made a project and uploaded 6 spheroid images in the page
      When they all segment their projects in the page at the same moment
      Then every page shows its batch completed, its progress bar at its maximum
      And every page lists only its own project and its own 6 images, each succeeded
      And each page received every event of its researcher's batch exactly once, in order, and none of anyone else's
      And each researcher opens an image and sees as many outlines drawn over it as the service found

  Rule: a researcher takes the measurements of every spheroid home

    Scenario: A researcher reads the measurements in the viewer and downloads them
      Given a researcher in the web page with a project of 4 spheroid images and a pixel size of 0.65 µm
      When the researcher segments the project in the page and it completes
      Then the viewer shows each spheroid of an image with the measurements the service gives
      And the measurements downloaded from the page hold one row per spheroid, with the numbers the service gives

  Rule: the page runs nothing but its own code

    @security
    Scenario: The page tells the browser to run only its own script, and works under that rule
      Given a researcher in the web page with a project of 3 spheroid images and a pixel size of 0.65 µm
      When the researcher segments the project in the page and it completes
      Then the page forbids code it did not ship, being framed, type sniffing and sending referrers
      And the browser refused nothing the page did, the viewer and the download included

  Rule: a small batch is not stuck behind a large one

    @parallel
    Scenario: A researcher's small batch shows progress while another's large batch runs
      Given a researcher in the web page with a project of 3 spheroid images
      And another researcher's batch of 80 spheroid images is running
      When the researcher starts segmenting the project in the page
      Then the page shows the batch completed before the large batch's last image started

  Rule: the threshold a researcher picks is the one used

    Scenario: A higher threshold outlines less, and only inside what the lower one outlined
      Given a researcher in the web page with a project of 3 spheroid images
      When the researcher segments the project in the page at a threshold of 0.2, and again at 0.8
      Then every mask at 0.8 lies inside the mask at 0.2 of the same image, and they differ

  Rule: the page is usable with the keyboard alone and by assistive technology

    Scenario: A researcher works the page without the mouse
      Given a researcher with an account and a project, and 2 spheroid images on disk
      When the researcher signs in using only the keyboard
      And uploads the images using only the keyboard
      And segments them using only the keyboard
      And opens the viewer on the first image using only the keyboard
      And downloads the image's outlines for QuPath using only the keyboard
      Then the viewer shows the image with its outlines drawn, and the keyboard focus is in the viewer
      And the outlines downloaded hold one shape per spheroid of the image

    Scenario: axe-core finds no serious or critical accessibility problem
      Given a new visitor on the sign-in view of the web page
      When axe-core scans the sign-in view, the workspace while a batch of 6 images runs, and the viewer
      Then it finds no serious or critical violation in any of the three

  Rule: when a session ends, the page asks to sign in again and forgets nothing the researcher typed

    Scenario: The researcher's session is ended from another window while they are typing
      Given a researcher signed in to the web page with a project of 3 spheroid images
      And the researcher has typed "Second plate" as a new project's name, without creating it
      When the researcher's session is ended from another window
      Then the page asks the researcher to sign in again, within the time the service promises
      And once signed in again, the new project's name still reads "Second plate"

  Rule: a researcher can stop a batch from the page

    Scenario: A researcher cancels a running batch with the button
      Given a researcher signed in to the web page with a project of 12 spheroid images
      And the inference server is frozen
      When the researcher starts segmenting the project in the page
      And the researcher cancels the batch in the page once its first images are running
      Then the page shows the batch cancelled: the images that were running finished, the others cancelled

  Rule: the page picks up where the researcher left it

    Scenario: A researcher reloads the tab while a batch runs, and the progress goes on to its maximum
      Given a researcher signed in to the web page with a project of 12 spheroid images
      And the inference server is frozen
      When the researcher starts segmenting the project in the page
      And the researcher reloads the tab while the batch runs, and the batch then goes on
      Then the page shows the batch as completed
      And a link to an image opened in the viewer opens the same project and image after another reload

  Rule: microscope files are shown, segmented and measured like any other image

    Scenario: A 12-bit TIFF and a 3-page TIFF are shown with their outlines and measured
      Given a researcher in the web page who uploaded a 12-bit TIFF and a 3-page TIFF of spheroids
      When the researcher segments the project in the page and it completes
      Then each TIFF is shown in the viewer at its own size, with the outlines the service found drawn over it
      And the outlines follow the spheroids: each mask has an IoU of at least 0.8 with the truth
      And the 3-page TIFF is listed as page 1 of 3, the page that was segmented
      And the measurements downloaded from the page hold one row per spheroid, with the numbers the service gives

  Rule: the lab's tools get the results in their own formats

    Scenario: A researcher takes the masks and the outlines home, and looks at the whole project
      Given a researcher in the web page with a project of 4 spheroid images and a pixel size of 0.65 µm
      When the researcher segments the project in the page and it completes
      Then the masks downloaded from the page are the service's masks, one per image, named after it
      And the outlines downloaded for QuPath and for ImageJ hold one shape per spheroid, with its measurements
      And the project overview draws the spheroids' diameters and counts, and says them in words
