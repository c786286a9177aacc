"""Access-review sheets and their return."""
