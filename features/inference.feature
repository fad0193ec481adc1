Feature: The inference server runs four researchers' images side by side
  One GPU serves four researchers.  The server runs their images in parallel
  lanes instead of one after another behind a lock, degrades gracefully when
  memory runs out, and answers every request - with a result or a clear error.

  Rule: four requests at once are computed at the same time

    @parallel
    Scenario: Four inferences at once run side by side
      Given an inference server with 4 lanes
      When 4 researchers' images are segmented at the same moment
      Then they ran on 4 different lanes
      And their computations overlapped in time

  Rule: lanes add throughput, not overhead

    @parallel @perf
    Scenario: Four concurrent users get nearly all the throughput the model has on this machine
      Given the best in-process throughput of unet on this machine, with every stage a request goes through
      When 4 users send images to the inference server continuously
      Then they get at least 90% of that throughput

    @gpu @perf
    Scenario: On a GPU, four users get three times the throughput of a server with one lock
      Given an NVIDIA GPU
      When 4 users send images continuously to the lane server and then to a one-at-a-time server
      Then the lane server's throughput is at least 3 times the one-at-a-time server's
      And the GPU's utilisation over the run is attached to the report

  Rule: running out of memory slows the server down but fails nothing

    @failure
    Scenario: Running out of memory during a four-user run fails no request
      Given an inference server that will run out of memory on the next 3 images it computes
      When 4 users send 40 images at the same moment
      Then every image is segmented
      And the lanes allowed dropped to 2 and came back to 4 after a quiet period

  Rule: a request that takes too long is answered, and the lane goes on

    @failure
    Scenario: A request past its deadline times out, and the next ones are served
      Given an inference server that answers within 2 seconds or not at all
      And the next image it computes will take 4 seconds
      When an image is sent to it, and 4 more together once the slow one is done
      Then the first request ends with the error "timeout"
      And the next 4 are segmented, on all 4 lanes

  Rule: a burst of large images is refused before it is read, not held in memory

    @failure
    Scenario: A burst of large images: what the server cannot take in is refused before it is read
      Given an inference server that takes in at most 5 large images at a time
      When 5 large images are sent to it at the same moment, then 40
      Then of the 40, 5 were taken in and the other 35 refused with the error "overloaded" before being read
      And its memory grew less than three times as much with 40 sent as with 5, eight times as many

  Rule: bad input gets the documented error, and the server keeps serving

    @security
    Scenario Outline: The inference server refuses <bad input> and keeps serving
      When <bad input> is sent to the inference server
      Then the inference server refuses it with the error "<code>"
      And the inference server still segments a good image

      Examples:
        | bad input                                 | code            |
        | bytes that are not an image               | invalid_image   |
        | a truncated PNG                           | invalid_image   |
        | an empty body                             | invalid_image   |
        | a zero-pixel image                        | invalid_image   |
        | an image of 4097 by 8 pixels              | invalid_image   |
        | an image of 8 by 8 pixels                 | invalid_image   |
        | an image for a model that does not exist  | unknown_model   |
        | a threshold of 7                          | invalid_request |
        | a threshold that is not a number          | invalid_request |
        | a body of 65 MiB                          | too_large       |
