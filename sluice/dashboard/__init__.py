"""Read models the dashboard shows beside the API's own (search, timelines, overview figures);
every write goes through the same services as the API."""
