"""Images in conversations: reading them safely (``images``) and vision projectors."""
