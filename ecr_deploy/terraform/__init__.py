"""What drives the terraform CLI: the runner, the HCL checks, where a state lives, the checkout's lock, Stack."""
