Feature: Every model is there when it is needed
  The service offers three models.  Each must segment spheroids well; one that
  is broken or missing is reported as such and its requests are served by its
  fallback; a model can be replaced without failing a request.

  Rule: each model segments unseen spheroids well

    @models
    Scenario Outline: <model> segments spheroid images it has never seen
      When 12 unseen spheroid images are segmented with <model>
      Then the masks reach a mean IoU of at least 0.9 against the ground truth
      And the answers say <model> served them, without a fallback

      Examples:
        | model        |
        | unet         |
        | resunet_cbam |
        | hrnet        |

  Rule: a model that cannot serve is reported, and its fallback serves

    @models
    Scenario Outline: A <state> model is reported as <state> and its requests go to its fallback
      Given an inference server whose hrnet weights are <damage>
      When an image is segmented with hrnet
      Then the server lists hrnet as <state>
      And the image was segmented by unet, and the answer says a fallback was used
      And the server counts the fallback for hrnet

      Examples:
        | state       | damage    |
        | corrupted   | corrupted |
        | unavailable | missing   |

  Rule: a model can be replaced while it serves

    @models
    Scenario: A reloaded model serves new requests without failing any in flight
      Given an inference server with its own copy of the weights
      When new hrnet weights are put in place and hrnet is reloaded while 4 users keep sending images
      Then no request failed
      And the server lists the new weights for hrnet, and serves with them
