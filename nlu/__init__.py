"""Language understanding on the platform side: sentence encoders and the hand-off decision."""
