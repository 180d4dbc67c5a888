"""Call recordings: metadata in the database, WAV files under the data directory."""
