"""People: users, their roles in merchant accounts, sign-in with a second factor, sessions."""
