"""The commands' steps (publish, provision, deploy) over the four sides, each handed the clients it uses."""
