package feedback

// bin is a binary classifier's label: the positive class happened, or not.
func bin(positive bool) Truth {
	if positive {
		return Truth{Number: 1}
	}
	return Truth{}
}
