Feature: Four researchers share the service at once
  The lab has one GPU and four researchers.  Each of them submits work when it
  suits them; each sees their own progress live, nothing is lost, nothing is
  done twice, and nobody sees anyone else's work.

  Rule: every researcher's work is done, and each sees only their own

    @parallel
    Scenario: Four researchers segment their batches at the same moment
      Given 4 researchers, each with a project of 8 spheroid images
      When they all segment their projects at the same moment
      Then all 32 images are segmented
      And every batch reads as completed, with its finish time
      And each researcher saw, live, every event of their own jobs in order and none of anyone else's
      And every mask matches the spheroids in its own image
      And the events reached the researchers within a second of the change they report

  Rule: the queue runs each job to success exactly once, however many workers there are

    @parallel @slow
    Scenario: Five workers work through two hundred queued images
      Given 5 workers are serving the queue
      And 4 researchers, each with a project of 50 spheroid images
      When they all segment their projects at the same moment
      Then every job succeeds exactly once
      And the inference server was asked once per job
      And never more jobs ran at once than the service allows

  Rule: a researcher can stop a batch

    Scenario: A researcher cancels a batch
      Given a researcher with a project of 30 spheroid images
      And the inference server is frozen
      When the researcher segments the project and cancels the batch while it runs
      Then the jobs that had not started are cancelled and the running ones finish
      And the researcher's events say so

  Rule: a burst of requests waits briefly for the database, and never hangs

    @parallel
    Scenario: Two hundred requests at once while the database is held up
      Given a researcher with a project of 2 spheroid images
      When 200 requests from the researcher, good, bad and failing ones, arrive while the database is held up
      Then every request is answered, with what was asked or with "busy" and a time to retry
      And those the service had no room for were told "busy"
      And afterwards the service has all its database connections free again
