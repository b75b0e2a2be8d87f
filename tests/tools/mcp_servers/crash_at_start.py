"""An MCP server that dies before it answers, as one with a missing key would."""

import sys

print("starting the weather server", file=sys.stderr, flush=True)
print("error: WEATHER_API_KEY is not set; export it and start again", file=sys.stderr, flush=True)
sys.exit(3)
