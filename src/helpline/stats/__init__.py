"""Statistics: real-time figures, historical reports, exports and Erlang C staffing."""
