"""Models, one file per topology; plain nn.Modules built from config dataclasses."""
