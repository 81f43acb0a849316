"""The web dashboard (`/dashboard`): server-rendered HTML and SVG, signed in by token or link."""
