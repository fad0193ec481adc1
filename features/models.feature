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

  Rule: each model's masks hold on images from a microscope it has never seen

    The validation set is drawn by a generator that shares nothing with the one
    the models learnt from: lobed and bean-shaped spheroids from 5% to half of
    the field, cut by the border, touching, evenly bright, with dark necrotic
    cores, in phase contrast, dim on bright backgrounds, with debris, blur, and
    8- and 16-bit files.  The worst masks are attached to the report as pictures.

    @models
    Scenario Outline: <model> outlines spheroids from another microscope well, even at its worst
      When 40 images of the validation set are segmented with <model>
      Then at most 2 of the 40 masks have an IoU below 0.9 with the truth, and none below 0.8

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
