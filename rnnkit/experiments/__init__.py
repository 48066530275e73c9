"""The labs: experiments that make the vanishing gradient and its remedies visible."""
