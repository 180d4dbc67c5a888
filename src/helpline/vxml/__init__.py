"""VoiceXML 2.1 (a subset): documents validated at upload and run over a CallPort."""
