; Inno Setup script for Hearth on Windows (per-user install, no administrator rights).
;
; NOT BUILT OR TESTED by Hearth's CI (which runs on Linux). On a Windows machine:
;   py -3.11 -m venv .venv
;   .venv\Scripts\pip install -e ".[starter,package]"
;   .venv\Scripts\python packaging\build.py            -> dist\pyinstaller\hearth\
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" packaging\windows\hearth.iss
;                                                      -> dist\hearth-0.1.0-windows-x64-setup.exe
; The app folder holds Hearth.exe (the window, no console) and hearth-cli.exe (the
; terminal commands); see packaging/pyinstaller/hearth.spec.

#define AppName "Hearth"
#define AppVersion "0.1.0"
#define SourceDir "..\..\dist\pyinstaller\hearth"

[Setup]
AppId={{6E0C2B0E-2F0B-4E55-9C1B-8F1D3A7C4B21}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Hearth developers
DefaultDirName={localappdata}\Programs\Hearth
DefaultGroupName=Hearth
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=hearth-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
UninstallDisplayIcon={app}\Hearth.exe
ChangesAssociations=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "gguf"; Description: "Open .gguf model files with Hearth"; GroupDescription: "File types:"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{userprograms}\Hearth"; Filename: "{app}\Hearth.exe"; Comment: "Chat and talk with local AI models, offline"
Name: "{userdesktop}\Hearth"; Filename: "{app}\Hearth.exe"; Tasks: desktopicon

[Registry]
; "Open with Hearth" for .gguf: adds the model to the library (it stays where it is).
Root: HKCU; Subkey: "Software\Classes\.gguf"; ValueType: string; ValueName: ""; ValueData: "Hearth.GGUF"; Flags: uninsdeletevalue; Tasks: gguf
Root: HKCU; Subkey: "Software\Classes\Hearth.GGUF"; ValueType: string; ValueName: ""; ValueData: "GGUF model"; Flags: uninsdeletekey; Tasks: gguf
Root: HKCU; Subkey: "Software\Classes\Hearth.GGUF\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\Hearth.exe,0"; Tasks: gguf
Root: HKCU; Subkey: "Software\Classes\Hearth.GGUF\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\Hearth.exe"" ""%1"""; Tasks: gguf

[Run]
Filename: "{app}\Hearth.exe"; Description: "{cm:LaunchProgram,Hearth}"; Flags: nowait postinstall skipifsilent
