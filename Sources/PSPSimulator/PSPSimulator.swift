// PSPSimulator
