"""Tools a model may call: call values, the parsers of model-emitted calls, forced calls
(part A of issue 15), and the registry, runner and loop that run them (part B)."""
