"""The example project: a compact ConvNet image tower and the SigLIP loss, registered from outside zerovl."""
