"""Text messages: the dev sender and Twilio's Messages API. See docs/email-and-sms.md."""
