"""The avatar library: prepared avatars on disk, how they are made, named, stored and read back."""
