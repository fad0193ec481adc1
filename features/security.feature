Feature: Each researcher's work is their own, and bad requests change nothing
  Researchers must not see, change or even learn of each other's work, and a
  request the service cannot accept is refused with a clear error and leaves
  everything as it was.

  Rule: another researcher's work answers as if it did not exist

    @security
    Scenario Outline: A researcher tries to <action> of another researcher
      Given two researchers, one of whom has segmented a project
      When the other researcher tries to <action>
      Then they are told it does not exist
      And the owner's work is unchanged

      Examples:
        | action                                          |
        | see the project                                 |
        | list the project's images                       |
        | upload images to the project                    |
        | segment the project                             |
        | segment one of the images from their own project |
        | see an image                                    |
        | download an image's file                        |
        | download an image's mask                        |
        | see an image's outlines                         |
        | see the batch                                   |
        | cancel the batch                                |
        | see a job                                       |

  Rule: a bad request gets the documented error and stores nothing

    @security
    Scenario Outline: A researcher sends <bad request>
      Given two researchers, one of whom has segmented a project
      When the other researcher sends <bad request>
      Then the request is refused with the error "<code>"
      And nothing of theirs has changed

      Examples:
        | bad request                              | code             |
        | malformed JSON                           | invalid_request  |
        | a JSON list instead of an object         | invalid_request  |
        | a project name that is a number          | invalid_request  |
        | an empty project name                    | invalid_request  |
        | a project name of 201 characters         | invalid_request  |
        | a threshold of 0.99                      | invalid_request  |
        | a threshold given as text                | invalid_request  |
        | an unknown model                         | unknown_model    |
        | an empty list of images                  | invalid_request  |
        | image ids that are not numbers           | invalid_request  |
        | another researcher's image id            | not_found        |
        | a corrupt image                          | invalid_image    |
        | a truncated PNG                          | invalid_image    |
        | an image of zero pixels                  | invalid_image    |
        | an image wider than 4096 pixels          | invalid_image    |
        | an image larger than 20 MiB              | too_large        |
        | a text file as an image                  | unsupported_type |
        | 101 images at once                       | too_large        |
        | a good image together with a corrupt one | invalid_image    |
        | a file name of 300 characters            | invalid_request  |
        | no file at all                           | invalid_request  |

  Rule: names are kept as plain text

    @security
    Scenario: Names with markup, SQL or folders in them are stored and shown as plain text
      Given a researcher with a project of one spheroid image
      When the researcher names a project "<script>alert(1)</script>'; DROP TABLE projects; --" and uploads an image named "../../etc/passwd.png"
      Then the project is listed with exactly that name
      And the image is stored as "passwd.png"
      And the web page shows the project's name as text, not markup

  Rule: without a valid token nothing is answered; a token belongs in a header, not in a link

    Background:
      Given a researcher with a project of one spheroid image

    @security
    Scenario: Requests without a valid token are refused, the event stream included
      When someone without a valid token asks for the researcher's project, images and events
      Then every request is refused with the error "unauthorized"

    @security
    Scenario: The researcher's own token in a link is refused everywhere but the event stream
      When the researcher's own token is sent in the link instead of a header
      Then every request is refused with the error "unauthorized"

  Rule: an export cannot run code on the researcher's computer

    @security
    Scenario: A file name a spreadsheet would run as a formula is exported as text
      Given a researcher with a project of one spheroid image
      When the researcher uploads an image named "=HYPERLINK(1)2.png", segments the project and downloads the measurements
      Then the CSV holds that name as text a spreadsheet will not run, and offers itself under a plain file name

  Rule: guessing a password is slowed down

    @security
    Scenario: Wrong passwords for one account are refused for a while after a few
      Given a researcher with a project of one spheroid image
      When someone tries 8 wrong passwords for the researcher's account, then the right one
      Then the first 5 were told "invalid_credentials", the rest and the right one "too_many_attempts", with a time to retry
      And wrong passwords cost as long for an account that does not exist as for one that does, within a factor of two

  Rule: no token or password is ever written down

    @ui @trace
    Scenario: A researcher's token and password appear in no log, trace or attachment
      Given a researcher in the web page with a project of 3 spheroid images
      And the researcher mistypes their password once
      When the researcher segments the project in the page and it completes
      Then neither their token nor their password is written in any service log, in the page's trace or in any attachment of the run

  Rule: a session ends when the researcher signs out, or leaves it unused

    @security
    Scenario: Signing out ends the session everywhere, the event stream included
      Given a researcher with a project of one spheroid image
      When the researcher signs out
      Then every request is refused with the error "unauthorized"
      And their event stream was closed because the session ended, within the time the service promises

    @security
    Scenario: A session left unused ends, and one in use lives on
      Given an API process whose sessions last 2 seconds unused
      When one researcher signs in there and leaves the session unused, and another keeps using theirs for twice that long
      Then the unused session is refused with the error "unauthorized", and the one in use is still good

  Rule: one researcher cannot starve the others

    @security
    Scenario: A researcher making changes faster than allowed is slowed down, and another is answered as usual
      Given 2 researchers, each with a project of one spheroid image
      When the first sends 300 changes at once, and the second makes one meanwhile
      Then the first's changes past what the service allows at once were told "too_many_requests", with a time to retry
      And the second researcher's change was answered as usual

    @security
    Scenario: A researcher opening more live connections than allowed is refused the extra ones
      Given a researcher with a project of one spheroid image
      When the researcher opens 12 more live event connections at once
      Then those past the service's limit were refused with the error "too_many_requests"
