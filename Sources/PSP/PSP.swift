// PSP
