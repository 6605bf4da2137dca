"""Who may do what on the admin page: moderators decide on stories, admins also manage users.

A module of its own so that `kiosk user --help` can list the roles without loading the model.
"""

ROLES = ("moderator", "admin")
