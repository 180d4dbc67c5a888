"""Self-service: IVR flows, VoiceXML and voicemail, written against :mod:`helpline.ivr.port`."""
