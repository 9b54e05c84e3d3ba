"""Reading and writing media through the ffmpeg binary bundled with imageio-ffmpeg."""
